"""The change-tracking engine: pure data and functions, no I/O, no backend imports.

``state`` (one tracked document and its snapshot), ``identity_map`` (entities by id and by
object identity), ``diff`` (field-level changes) and ``unit_of_work`` (what a save would write).
"""
