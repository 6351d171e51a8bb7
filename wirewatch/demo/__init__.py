"""The bundled demo: two small feeds written for wirewatch and a server for them."""
