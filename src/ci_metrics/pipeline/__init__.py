"""The nightly run: the Prefect flow that chains the stages (ingest → build → audit →
publish → share) and the cheap "anything new?" scan that can stop it early."""
