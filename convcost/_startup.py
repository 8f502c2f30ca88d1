"""Imported first by ``import convcost``: a Ctrl-C while the convcost command is still starting is
one line, not a traceback (see ``convcost.interrupt``; does nothing in any other program)."""

from convcost.interrupt import install_startup_hook

install_startup_hook()
