"""io floor (see docs/ARCHITECTURE.md): reading labels made elsewhere (label images, ImageJ ROI sets) and
merging them into a project's annotations. Writing exports is export/'s job."""
