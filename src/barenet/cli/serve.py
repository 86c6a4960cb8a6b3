"""``barenet serve``: the drawing page and the prediction API on a local web server."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import click
from rich.markup import escape

from barenet.cli.common import stderr, unique_name
from barenet.cli.options import MODEL_HELP
from barenet.digits.folders import default_folder
from barenet.digits.shipped import open_model

WILDCARDS = ("0.0.0.0", "::", "")  # listen on every address: no one name to allow
INSTALL_HINT = "barenet serve needs FastAPI and uvicorn: pip install 'barenet[serve]'."


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line ClickException when ``host:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"Cannot listen on {host}:{port} ({error.strerror}); choose another --port or "
                "--host."
            ) from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: localhost, 127.x.y.z in any spelling the
    system accepts (127.1 too), or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:  # the short IPv4 forms (127.1) that inet_aton, and so the server, accepts
        return ipaddress.IPv4Address(socket.inet_aton(host)).is_loopback
    except OSError:
        return False


def unique_names(paths: list[Path]) -> list[str]:
    """The page's name of each model file: its file name, numbered when two are the same."""
    taken: set[str] = set()
    return [unique_name(path.stem, path.suffix, taken) for path in paths]


def address_url(host: str, port: int) -> str:
    """``http://host:port/``, with an IPv6 address in brackets (``http://[::]:8000/``)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@click.command("serve")
@click.option(
    "--model",
    "model_paths",
    multiple=True,
    help=MODEL_HELP + " Repeat it to serve several (the first is the default; the page can "
    "switch between them), e.g. --model cnn --model mine.npz.",
)
@click.option(
    "--my-digits",
    type=click.Path(file_okay=False),
    help='The folder where the page\'s corrections ("Wrong? It was a ...") are saved as '
    "DIGIT/NAME.png, to fine-tune on later. Default: $BARENET_MY_DIGITS, else "
    "~/.local/share/barenet/my-digits.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--allow-host",
    "allowed",
    multiple=True,
    metavar="NAME",
    help="Another host name or address clients use to reach the server (repeatable); "
    "localhost names and --host are always allowed.",
)
def serve_command(
    model_paths: tuple[str, ...],
    my_digits: str | None,
    host: str,
    port: int,
    allowed: tuple[str, ...],
) -> None:
    """Serve a page to draw digits on, with live predictions.

    The page's JSON API is served too. Open the printed address in a browser. One log line per
    request; Ctrl-C stops the server. It answers only to the names it knows (localhost,
    --host, --allow-host), so another web site cannot reach it through a name of its own.
    """
    try:
        import uvicorn

        from barenet.web.app import create_app
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    loaded = [open_model(name) for name in model_paths or (None,)]
    named = unique_names([path for _, path in loaded])
    folder = Path(my_digits) if my_digits else default_folder()
    check_port_free(host, port)
    if not is_loopback(host):
        stderr.print(
            f"[yellow]Note[/]: listening on {escape(host)}, so other machines can reach this "
            "server.",
            markup=True,
        )
    hosts = [*allowed, *([] if host in WILDCARDS else [host])]
    if host in WILDCARDS and not allowed:
        stderr.print(
            "Note: answering only to localhost names; add --allow-host NAME for each name or "
            "address other machines use to reach this one."
        )
    stderr.print(
        f"Serving {', '.join(named)}: open {address_url(host, port)} (Ctrl-C to stop); "
        f"corrections are saved in {folder}"
    )
    others = {name: model for name, (model, _) in zip(named[1:], loaded[1:], strict=True)}
    app = create_app(loaded[0][0], named[0], hosts, others=others, my_digits=folder)
    uvicorn.run(app, host=host, port=port, log_level="info")
