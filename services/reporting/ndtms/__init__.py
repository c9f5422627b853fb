"""The NDTMS monthly return: the data set mapping, the extract, its validation, submissions."""
