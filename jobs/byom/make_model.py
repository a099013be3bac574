"""Bring your own model, step 1: a model trained in PyTorch, as most users have one.

Writes to WORKDIR (default: this folder's out/):
  train.csv                 the training data: temperature, pressure, time -> yield
  x_scaler.pkl, y_scaler.pkl  scikit-learn StandardScalers fitted on inputs and outputs
  model.pt                  the trained torch.nn.Sequential (torch.save(model)), on scaled data
  model.onnx                the same model exported with torch.onnx.export

The process: yield = 100 · (1 − exp(−k · time)), with a rate k that grows with temperature
(Arrhenius) and with the square root of pressure. Many (temperature, pressure, time) give the
same yield: the inverse problem has a whole family of solutions.
"""

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

NAMES = ["temperature", "pressure", "time"]


def process(x: np.ndarray) -> np.ndarray:
    temperature, pressure, time = x[:, 0], x[:, 1], x[:, 2]
    k = 0.4 * np.sqrt(pressure) * np.exp(-3000.0 * (1.0 / temperature - 1.0 / 350.0))
    return 100.0 * (1.0 - np.exp(-k * time))


def main(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.uniform([300.0, 1.0, 0.5], [400.0, 10.0, 5.0], size=(4000, 3))
    y = process(x)[:, None]
    np.savetxt(work / "train.csv", np.hstack([x, y]), delimiter=",", header=",".join(NAMES + ["yield"]),
               comments="", fmt="%.10g")

    # Scaling outside the model, as usual with scikit-learn.
    xs, ys = StandardScaler().fit(x), StandardScaler().fit(y)
    for name, scaler in (("x_scaler.pkl", xs), ("y_scaler.pkl", ys)):
        with open(work / name, "wb") as f:
            pickle.dump(scaler, f)
    xt = torch.tensor(xs.transform(x), dtype=torch.float32)
    yt = torch.tensor(ys.transform(y), dtype=torch.float32)

    model = torch.nn.Sequential(
        torch.nn.Linear(3, 32), torch.nn.SiLU(),
        torch.nn.Linear(32, 32), torch.nn.BatchNorm1d(32), torch.nn.SiLU(),
        torch.nn.Linear(32, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=150)
    for epoch in range(150):
        for idx in torch.randperm(len(xt)).split(128):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        rmse = float(torch.sqrt(torch.nn.functional.mse_loss(model(xt), yt))) * ys.scale_[0]
    print(f"trained: RMSE {rmse:.3f} (yield in %, spans 0-100)")

    torch.save(model, work / "model.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, xt[:8], str(work / "model.onnx"), input_names=["x"], output_names=["yield"],
                          dynamic_axes={"x": {0: "batch"}, "yield": {0: "batch"}}, opset_version=13)
    print(f"wrote {work}/model.pt, model.onnx, x_scaler.pkl, y_scaler.pkl, train.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "out")
