"""JupyterHub's configuration for a class (scripts/hub starts the hub with it).

Every student is a Unix account in the group `stream-demo` (scripts/hub add-students)
and logs in with its password (PAM). The hub starts the student's JupyterLab as that
account (the local process spawner), in the student's home, where the lessons are copied
the first time. The Rust kernel and everything it builds come from the one set-up of
`scripts/hub install` (its kernel spec is in the hub's venv).

Read from the environment (scripts/hub sets the first two):
  STREAM_DEMO_REPO, STREAM_DEMO_HUB_DIR   the project and the hub's folder (.hub)
  HUB_PORT (8000), HUB_API_PORT (8081), HUB_PROXY_API_PORT (8001)
                      the ports, all on 127.0.0.1: put your web server (https) in front
  HUB_ADMINS          comma-separated accounts that may stop students' servers
  HUB_CULL_IDLE       seconds without activity after which a student's server is stopped
                      (3600); HUB_CULL_EVERY how often that is checked (300)
  HUB_SETTINGS        a file of VAR=VALUE lines (like scripts/short_settings.env): the
                      notebook's settings for every student
  HUB_ACTIVITY_EVERY  how often, in seconds, servers report their activity to the hub (300)
  HUB_ADMIN_TOKEN     an API token with the right to stop servers (for scripts, the tests)
"""
import os
import subprocess
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - given by JupyterHub

REPO = Path(os.environ["STREAM_DEMO_REPO"])
HUB = Path(os.environ["STREAM_DEMO_HUB_DIR"])
RUN = HUB / "run"
GROUP = "stream-demo"
# What each student gets in their home the first time: the lessons (copies, theirs to
# edit) and, as links, what the notebook's first cell reads (the helpers crate).
COPIES = ["Notebook.ipynb", "Kafka.ipynb", "Notebook.es.ipynb", "Kafka.es.ipynb",
          "GLOSARIO.md", "evcxr.toml"]
LINKS = ["helpers", "docker"]


def port(var, default):
    return int(os.environ.get(var, default))


c.JupyterHub.bind_url = f"http://127.0.0.1:{port('HUB_PORT', 8000)}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{port('HUB_API_PORT', 8081)}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port('HUB_PROXY_API_PORT', 8001)}"
c.ConfigurableHTTPProxy.command = [str(HUB / "node/node_modules/.bin/configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(RUN / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{RUN / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(RUN / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(RUN / "jupyterhub.pid")
# Stopping the hub stops every student's server (and so their kernels and programs).
c.JupyterHub.cleanup_servers = True
# How often the hub hears of each server's activity, which the idle culler goes by
# (HUB_ACTIVITY_EVERY seconds, 300 by default).
activity_every = int(os.environ.get("HUB_ACTIVITY_EVERY", 300))
c.JupyterHub.last_activity_interval = activity_every

# Who may log in: the accounts of the class's group; admins stop servers from the hub's
# admin page.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {GROUP}
c.Authenticator.admin_users = {a for a in os.environ.get("HUB_ADMINS", "").split(",") if a}

# Each student's JupyterLab: a process of their own account, in their home.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(HUB / "venv/bin/jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# window.jupyterapp, which the hub's browser test reads (harmless: the page's own origin).
c.Spawner.args = ["--LabApp.expose_app_in_browser=True",
                  "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
env = {"PATH": f"{HUB / 'venv/bin'}:/usr/local/bin:/usr/bin:/bin",
       "JUPYTERHUB_ACTIVITY_INTERVAL": str(activity_every)}
if os.environ.get("HUB_SETTINGS"):
    for line in Path(os.environ["HUB_SETTINGS"]).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
c.Spawner.environment = env


def give_lessons(spawner):
    """Copies the lessons into the student's home, as the student (so nothing in the
    home, such as a planted link, can make root write elsewhere), without replacing the
    student's own edits."""
    name = spawner.user.name
    script = "cd ~ && umask 077 && " + " && ".join(
        [f"{{ [ -e {f} ] || cp {REPO / f} {f}; }}" for f in COPIES]
        + [f"{{ [ -e {f} ] || [ -L {f} ] || ln -s {REPO / f} {f}; }}" for f in LINKS])
    subprocess.run(["runuser", "-u", name, "--", "sh", "-c", script], check=True)


c.Spawner.pre_spawn_hook = give_lessons

# The idle culler (PyPI jupyterhub-idle-culler) stops a server with no activity.
services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={port('HUB_CULL_IDLE', 3600)}",
                f"--cull-every={port('HUB_CULL_EVERY', 300)}"],
}]
roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
if os.environ.get("HUB_ADMIN_TOKEN"):
    services.append({"name": "stream-demo-admin", "api_token": os.environ["HUB_ADMIN_TOKEN"]})
    roles.append({"name": "stream-demo-admin",
                  "scopes": ["list:users", "read:users", "admin:servers", "admin:users"],
                  "services": ["stream-demo-admin"]})
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
