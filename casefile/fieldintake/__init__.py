"""Field intake: Casefile as an OpenRosa 1.0 server for phones (ODK Collect, KoboCollect, Tella). A case offers
forms; phones authenticate with a person's revocable device credential; each submission becomes an intake record
that an investigator accepts into the case (its files become evidence items) or rejects with a reason."""
