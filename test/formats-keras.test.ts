import { describe, expect, it } from "vitest";
import { readKerasH5, looksLikeHdf5 } from "../core/formats/keras-h5.js";
import { openTensorIndex } from "../core/formats/open.js";
import { FormatError } from "../core/errors.js";
import type { TensorIndex, TensorInfo } from "../core/formats/tensor.js";
import { folderSource } from "./folder-source.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

const byName = (index: TensorIndex, name: string): TensorInfo => {
  const tensor = index.tensors.find((t) => t.name === name);
  if (tensor === undefined) throw new Error(`no tensor ${name}`);
  return tensor;
};
/** Exact values: h5py's float32 values widened with Python's float(). */
function expectExact(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(Array.from(actual)).toEqual(expected);
}

requireShared("Keras HDF5 reader tests on shared models");

describe.skipIf(!hasShared)("Keras HDF5: real Keras 2 files", () => {
  const open = (file: string) => openTensorIndex(folderSource(sharedPath("models/real/keras-h5", file)));

  it("fer2013 mini-XCEPTION: 80 weights, kernels presented [out, in, kh, kw] with values as h5py reads them", async () => {
    const index = await open("fer2013_mini_XCEPTION.102-0.66.hdf5");
    expect(index.format).toBe("keras-h5");
    expect(index.metadata).toMatchObject({ keras_version: "2.0.5", backend: "tensorflow", keras_layers: "46" });
    expect(index.tensors).toHaveLength(80);
    expect(index.tensors.filter((t) => t.shape.length >= 2)).toHaveLength(23);
    // Inner group `conv2d_1_1` differs from the layer name `conv2d_1`; the layer name is used.
    const conv = byName(index, "conv2d_1.weight");
    expect(conv.shape).toEqual([8, 1, 3, 3]);
    // h5py: transpose(kernel, (3, 2, 0, 1))[1].ravel()[:3]
    expectExact(await conv.read(9, 3), [0.03510195389389992, 0.02687258832156658, 0.016783231869339943]);
    // Output channel 0 of this layer has decayed to ~1e-35 (h5py: -4.0057203e-35).
    expectExact(await conv.read(0, 1), [-4.005720275476979e-35]);
    // SeparableConv2D: depthwise [3,3,8,1] → [8,1,3,3]; pointwise [1,1,8,16] → [16,8,1,1].
    const depthwise = byName(index, "separable_conv2d_1.depthwise.weight");
    expect(depthwise.shape).toEqual([8, 1, 3, 3]);
    expectExact(await depthwise.read(50, 1), [0.15702460706233978]); // h5py depthwise[1, 2, 5, 0]
    const pointwise = byName(index, "separable_conv2d_1.pointwise.weight");
    expect(pointwise.shape).toEqual([16, 8, 1, 1]);
    expectExact(await pointwise.read(59, 1), [0.7754602432250977]); // h5py pointwise[0, 0, 3, 7]
    // BatchNormalization: gamma/beta named as PyTorch names them, 1-D; optimizer state is not read.
    expect(byName(index, "batch_normalization_1.weight").shape).toEqual([8]);
    expect(byName(index, "batch_normalization_1.moving_variance").shape).toEqual([8]);
    expect(index.tensors.some((t) => t.name.includes("optimizer") || t.name.includes("Adam"))).toBe(false);
  });

  it("gender mini-XCEPTION reads the same layout", async () => {
    const index = await open("gender_mini_XCEPTION.21-0.95.hdf5");
    expect(index.tensors).toHaveLength(80);
    const conv = byName(index, "conv2d_1.weight");
    expectExact(await conv.read(52, 1), [-2.2358341067134063e-34]); // h5py kernel[2, 1, 0, 5]
  });

  it("an HDF5 file that is not a Keras model is rejected naming what is missing", async () => {
    const source = folderSource(sharedPath("models/real/not-a-model/measurements.h5"));
    expect(looksLikeHdf5(await source.read(0, 4096))).toBe(true);
    await expect(readKerasH5(source)).rejects.toThrow(FormatError);
    await expect(openTensorIndex(source)).rejects.toThrow(
      /measurements\.h5: HDF5 file but not a Keras model: no "model_weights" group and no "layer_names" attribute \(root holds "run_001"\)/,
    );
  });
});
