"""Tune a classical baseline (SVM on downsampled pixels) for comparison with the CNN."""
import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from data import DefectDataset


def load_pixels(root, split, size=16):
    ds = DefectDataset(root, split)
    xs, ys = [], []
    for idx in range(len(ds)):
        image, label = ds[idx]
        c, h, w = image.shape
        small = image.reshape(c, size, h // size, size, w // size).mean(dim=(2, 4))
        xs.append(small.flatten().numpy())
        ys.append(int(label))
    return np.stack(xs), np.array(ys)


if __name__ == "__main__":
    X, y = load_pixels("data/defects", "train")
    pipe = Pipeline([("scale", StandardScaler()), ("pca", PCA()), ("svm", SVC())])
    param_grid = {
        "pca__n_components": [32, 64, 128, 256],
        "svm__C": [0.1, 1, 10, 100],
        "svm__gamma": ["scale", 1e-3, 1e-2, 1e-1],
        "svm__kernel": ["rbf", "poly"],
    }
    search = GridSearchCV(pipe, param_grid, cv=5, scoring="accuracy", n_jobs=-1, verbose=2)
    search.fit(X, y)
    print("best params:", search.best_params_)
    print(f"best 5-fold accuracy: {search.best_score_:.4f}")
