"""Entry point: `flask --app app …` for the CLI, `python app.py` to serve on 127.0.0.1:5000."""

from casefile import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
