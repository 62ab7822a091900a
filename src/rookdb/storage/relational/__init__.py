"""The relational storage core: what the SQL backends (``sqlite``, ``postgres``) share, written
once, each dialect supplying its SQL, its query compiler, its index DDL and its driver's error
translation."""
