"""`make run`: start the three services on the embedded default and stop them on Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

from services.common.settings import Settings

SERVICES = ("referral", "journey", "reporting")


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Ctrl-C (SIGINT) and a plain `kill` (SIGTERM) both stop all three services cleanly.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    processes = []
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
        processes.append((name, port, subprocess.Popen(command, env=os.environ.copy())))
    for name, port, _ in processes:
        print(f"{name:>9} service: http://{settings.host}:{port}  (docs at /docs)")
    print(f"data folder: {settings.data_dir.resolve()}")
    print('local token: make token ARGS="--org RX1 --role provider --user alice"')
    print("Ctrl-C stops all three.", flush=True)
    try:
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
    print("all stopped.")


if __name__ == "__main__":
    main()
