"""Who is doing what (part of issue #20): assignments of items, incidents and charges to case members with due
dates, each person's "my work", and notifications inside the app (and by e-mail where CASEFILE_SMTP_URL is set)."""
