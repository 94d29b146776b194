"""Offline preparation: the readers of each dataset layout, face detection and cropping, splits,
and the pipeline that writes the videos CSV and the face cache (prepare.py). Training never
imports this package; it reads what the pipeline wrote."""
