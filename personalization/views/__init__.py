"""Back office pages of personalization: stations, jobs (live progress), batches, cards."""
