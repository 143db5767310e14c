"""Bitcoin: block model, raw serialization parser, script and address codecs, Core JSON."""
