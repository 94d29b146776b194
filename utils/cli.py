"""How every entry point parses its flags: a bad flag is one line on stderr and exit status 2."""
import argparse


def str2bool(value):
    """Parse true/false words; the original parsed any string, 'False' too, as True."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "t", "yes", "y", "1", "on"):
        return True
    if word in ("false", "f", "no", "n", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {value!r}")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
