# corpus: bad
# bug: empty: only this header, no code and no components
