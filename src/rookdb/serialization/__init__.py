"""Objects ⇄ JSON (``entities``) and the canonical JSON encoding (``encoding``)."""
