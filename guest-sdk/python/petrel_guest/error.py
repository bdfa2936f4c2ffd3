"""The error a transition raises instead of returning a decision."""


class Error(Exception):
    """A failed firing: the host records the message and applies its retry
    policy if the error is retryable, or dead-letters the inputs at once if
    not.

    Any other exception escaping ``decide`` becomes a fatal ``Error`` naming
    the exception (the same inputs would fail the same way again).
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    @staticmethod
    def retryable_error(message: str) -> "Error":
        """An error that retrying the same inputs could get past."""
        return Error(message, retryable=True)

    @staticmethod
    def fatal(message: str) -> "Error":
        """An error that retrying the same inputs would only repeat."""
        return Error(message, retryable=False)
