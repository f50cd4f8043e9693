"""One module per group of commands; each handler returns response data or raises CardStatus."""
