"""The web console: server-rendered pages over the services, for operators and administrators."""
