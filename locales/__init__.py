"""Languages, message catalogs and (later) knowledge content and machine translation."""
