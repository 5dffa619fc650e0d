"""Faithful fake servers of the providers: the provider boundary of every test and benchmark."""
