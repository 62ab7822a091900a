"""Objects ⇄ JSON (``entities``), what model libraries declare about classes (``models``) and
the canonical JSON encoding (``encoding``)."""
