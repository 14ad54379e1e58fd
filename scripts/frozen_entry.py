"""Entry script of the PyInstaller bundle (build.spec): ``relu_studio.app.main`` under its real name.

``freeze_support()`` lets a frozen child process started by ``multiprocessing`` (spawn or
forkserver, which some libraries use for process pools) run its task instead of a second copy of
the app; it does nothing from source or in the parent process.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from relu_studio.app import main

    sys.exit(main())
