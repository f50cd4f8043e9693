"""REST API of personalization: stations, jobs, batches, cards and their documents."""
