"""Story clustering: which earlier article or story a new article belongs to.

``features`` turns an article into what is compared; ``window`` holds the recent
articles and their term index; ``score`` weighs one pair; ``decide`` picks the
copy or the story; ``clusterer`` runs the window over time and ``state`` is the
persisted form of the window. All pure: no Kafka, no I/O.
"""
