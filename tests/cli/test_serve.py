"""barenet serve from the command line: a busy port and a missing extra are one line."""


def test_serve_command_refuses_a_busy_port_in_one_line():
    import socket

    from click.testing import CliRunner

    from barenet.cli import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 1 and f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


def test_serve_command_without_fastapi_says_what_to_install(monkeypatch):
    import sys

    from click.testing import CliRunner

    from barenet.cli import cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "pip install 'barenet[serve]'" in result.stderr
