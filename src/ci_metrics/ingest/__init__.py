"""Stage 1, ingest: partner files in the inbox become typed, pseudonymised raw tables.

Read in this order: ``inbox`` (walks the inbox, one transaction per file) → ``ledger``
(every file archived and recorded in ``ops.files``) → ``layouts`` (which contract reads a
file) → ``readers`` (CSV / spreadsheet bytes to strings) → ``typing_rules`` (strings to
typed columns, bad cells to ``ops.rejects``) → ``pseudonyms`` (national IDs to keyed
hashes). ``cbs/`` does the same for the CBS workbooks; ``freshness`` says which source is
late. Hostile input (docs/limits.md): ``filesystem`` (links, pipes and devices are never read;
the archive is private), ``limits`` (a file is measured before it is parsed), ``isolation``
(spreadsheets are parsed in a worker process where a crash becomes a rejected file).
"""
