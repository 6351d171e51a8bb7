"""wirewatch alerts stage."""
