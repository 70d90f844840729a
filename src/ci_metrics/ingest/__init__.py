"""Stage 1, ingest: partner files in the inbox become typed, pseudonymised raw tables.

Read in this order: ``inbox`` (walks the inbox, one transaction per file) → ``ledger``
(every file archived and recorded in ``ops.files``) → ``layouts`` (which contract reads a
file) → ``readers`` (CSV / spreadsheet bytes to strings) → ``typing_rules`` (strings to
typed columns, bad cells to ``ops.rejects``) → ``pseudonyms`` (national IDs to keyed
hashes). ``cbs/`` does the same for the CBS workbooks; ``freshness`` says which source is
late.
"""
