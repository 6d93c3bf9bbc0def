"""The roles of web console users (`asteriskbill users`): an admin sees every page, an operator those not marked
admin (web/render.py). Alone here, importing nothing, so that `asteriskbill users add --help` lists them light."""

ROLES = ("operator", "admin")
