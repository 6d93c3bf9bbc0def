"""One module per page group; each exports ROUTES (web/app.py collects them all)."""
