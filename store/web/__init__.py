"""The archive's web pages on Datasette: the front page, labels and cells, and the reader."""
