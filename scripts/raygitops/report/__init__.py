"""Report layer: output formats, suppressions and the generated rules page."""
