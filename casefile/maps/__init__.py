"""The case map: a case's incidents and its evidence with a GPS position, on a map (casefile/static/map.js) and as
GeoJSON over the API."""
