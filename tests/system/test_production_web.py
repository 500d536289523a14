"""The production web stack as docker-compose runs it: `collectstatic` into a fresh STATIC_ROOT, then the
exact `web` command from docker-compose.yml (gunicorn, DEBUG off), and a real browser that gets the admin
login page styled by Django admin's CSS, served by WhiteNoise under hashed names."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Response, sync_playwright

from tests.fixtures.processes import process_env
from tests.fixtures.receivers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ADMIN_SECONDARY = "rgb(65, 118, 144)"  # admin/css/base.css: --secondary #417690, the #header background


def compose_web_command() -> list[str]:
    """web.command from docker-compose.yml as the container gets it (compose turns `$$` into `$`)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return [part.replace("$$", "$") for part in compose["services"]["web"]["command"]]


@pytest.fixture
def web_env(tmp_path: Path) -> dict[str, str]:
    env = process_env(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="production-web-test-key",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # gunicorn of this venv
        PORT=str(free_port()),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the production settings, as wsgi.py selects them
    env.pop("DJANGO_STATIC_MANIFEST", None)
    return env


@pytest.fixture
def web_server(web_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    # As the Dockerfile collects them: the manifest storage is forced on for collectstatic only, and the
    # server picks it up because the manifest now exists.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**web_env, "DJANGO_STATIC_MANIFEST": "true"},
        check=True,
        timeout=120,
    )
    assert (tmp_path / "static" / "staticfiles.json").exists()
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            compose_web_command(),
            cwd=ROOT,
            env=web_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{web_env['PORT']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the web server exited:\n{log_path.read_text()[-4000:]}"
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (
                f"the web server never answered:\n{log_path.read_text()[-4000:]}"
            )
            time.sleep(0.2)
        assert "Starting gunicorn" in log_path.read_text()
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
    assert server.returncode is not None


def test_compose_runs_gunicorn_for_the_web_service() -> None:
    command = " ".join(compose_web_command())
    assert "exec gunicorn jiraplus.wsgi:application" in command
    assert "--workers ${WEB_CONCURRENCY:-2}" in command and "--threads ${GUNICORN_THREADS:-4}" in command


def test_gunicorn_serves_the_admin_with_its_collected_stylesheets(web_server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser test needs Debian's chromium at {CHROMIUM}: `apt-get install chromium`.")
    stylesheets: list[Response] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        try:
            page = browser.new_page(color_scheme="light")
            page.on(
                "response",
                lambda r: stylesheets.append(r) if r.request.resource_type == "stylesheet" else None,
            )
            page.goto(f"{web_server}/admin/login/", wait_until="load")
            header_background = page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor")
            base_css = next(
                (r for r in stylesheets if re.search(r"/static/admin/css/base\.\w{12}\.css$", r.url)), None
            )
            assert base_css is not None, f"no hashed admin base.css among {[r.url for r in stylesheets]}"
            assert base_css.status == 200
            assert base_css.headers["content-type"].startswith("text/css")
            assert "--header-bg" in base_css.text()
            assert all(r.status == 200 for r in stylesheets), [(r.url, r.status) for r in stylesheets]
        finally:
            browser.close()
    assert header_background == ADMIN_SECONDARY

    # WhiteNoise's production behaviour: compressed variants, and hashed names cached for good.
    request = urllib.request.Request(base_css.url, headers={"Accept-Encoding": "gzip"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]
