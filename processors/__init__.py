"""wirewatch processors stage."""
