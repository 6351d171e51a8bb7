"""Story clustering: which earlier article or story a new article belongs to.

``features`` and ``body`` turn an article into what is compared; ``reading`` is
the stateless half of that (any stage can compute it, and it has a wire form);
``window`` holds the recent articles and their term index; ``score`` weighs one
pair; ``decide`` picks the copy or the story, with the fitted full-text
``model``; ``clusterer`` runs the window over time and ``state`` is the
persisted form of the window. All pure: no Kafka, no I/O.
"""
