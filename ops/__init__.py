"""The operator application: the `daogou` command (cli.py mounts each package's commands), Rasa
training and checks (bot_cli.py), the health check of every running process (health.py) and the web
page with the chat box and the staff console (web.py).

It sits at the top: it may import any package, and nothing imports it. The shared base every
package may use (settings, file helpers, language detection) stays in daogou/.
"""
