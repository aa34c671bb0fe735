from tests.sandbox.fixtures import receiver, sandbox, silent_server

__all__ = ["receiver", "sandbox", "silent_server"]
