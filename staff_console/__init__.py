"""The staff console: a web page for store associates and managers (sign in, chat with the assistant's
staff side, answers as tables), served at /staff by ops/web.py; docs/staff-console.md."""
