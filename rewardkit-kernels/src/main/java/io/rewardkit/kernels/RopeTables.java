package io.rewardkit.kernels;

import java.util.Locale;
import java.util.Map;

/**
 * Host-side cos/sin tables for rotary position embeddings, shaped {@code [maxPositions, headDim/2]}
 * as {@link Backend#ropeForward} expects: {@code cos[p, i] = cos(p · invFreq[i])}, and the same for sin.
 *
 * <p>The inverse frequencies follow HF transformers: {@code invFreq[i] = theta^(-2i/headDim)} for
 * {@code i < headDim/2} ({@code rope_theta}), optionally rescaled by Llama-3.1 style
 * {@code rope_scaling} ({@link Llama3Scaling}). Only half a table is stored because HF's
 * {@code rotate_half} convention uses the same angle for dimensions {@code i} and {@code i + headDim/2}.
 *
 * <p>Precision: everything is computed in float64 and rounded once to the backend dtype by
 * {@link #upload}. HF computes the angles {@code p · invFreq} in float32, whose rounding error grows with
 * the position (about {@code p · 2^-24} rad), so at long positions these tables are the more accurate
 * of the two; at the positions of a typical reward-model batch the difference is below bf16 resolution.
 */
public final class RopeTables {

  /**
   * HF {@code rope_scaling} with {@code rope_type: "llama3"} (Llama 3.1+). Frequencies whose wavelength
   * exceeds {@code originalMaxPositions / lowFreqFactor} are divided by {@code factor}; those shorter than
   * {@code originalMaxPositions / highFreqFactor} are kept; the band between is interpolated smoothly.
   */
  public record Llama3Scaling(double factor, double lowFreqFactor, double highFreqFactor, double originalMaxPositions) {
    public Llama3Scaling {
      require(factor > 0 && Double.isFinite(factor), "rope_scaling.factor must be > 0, got " + factor);
      require(lowFreqFactor > 0 && Double.isFinite(lowFreqFactor), "rope_scaling.low_freq_factor must be > 0, got " + lowFreqFactor);
      require(highFreqFactor > lowFreqFactor && Double.isFinite(highFreqFactor),
          "rope_scaling.high_freq_factor (" + highFreqFactor + ") must be greater than low_freq_factor (" + lowFreqFactor + ")");
      require(originalMaxPositions > 0 && Double.isFinite(originalMaxPositions),
          "rope_scaling.original_max_position_embeddings must be > 0, got " + originalMaxPositions);
    }
  }

  private final int headDim;
  private final int maxPositions;
  private final double[] invFreq;  // [headDim/2]
  private final double[] cos;      // [maxPositions, headDim/2]
  private final double[] sin;      // [maxPositions, headDim/2]

  private RopeTables(int headDim, int maxPositions, double[] invFreq) {
    this.headDim = headDim;
    this.maxPositions = maxPositions;
    this.invFreq = invFreq;
    int half = headDim / 2;
    long n = (long) maxPositions * half;
    require(n <= Integer.MAX_VALUE, "rope tables of " + maxPositions + " x " + half + " are too large");
    cos = new double[(int) n];
    sin = new double[(int) n];
    for (int p = 0; p < maxPositions; p++) {
      for (int i = 0; i < half; i++) {
        double angle = p * invFreq[i];
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    }
  }

  /**
   * Tables for positions {@code [0, maxPositions)}.
   *
   * @param headDim      the attention head size (even)
   * @param theta        HF {@code rope_theta} (e.g. 10000, 500000, 1000000)
   * @param maxPositions rows of the tables: one more than the largest position a batch will use
   * @param scaling      Llama-3 scaling, or null for plain RoPE
   */
  public static RopeTables build(int headDim, double theta, int maxPositions, Llama3Scaling scaling) {
    require(maxPositions > 0, "maxPositions must be > 0, got " + maxPositions);
    return new RopeTables(headDim, maxPositions, inverseFrequencies(headDim, theta, scaling));
  }

  /** {@code invFreq[i]}, {@code i < headDim/2}, as HF {@code ROPE_INIT_FUNCTIONS} computes it (in float64). */
  public static double[] inverseFrequencies(int headDim, double theta, Llama3Scaling scaling) {
    require(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even, got " + headDim);
    require(theta > 0 && Double.isFinite(theta), "rope_theta must be > 0, got " + theta);
    double[] inv = new double[headDim / 2];
    for (int i = 0; i < inv.length; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
    if (scaling != null) {
      double lowFreqWavelen = scaling.originalMaxPositions() / scaling.lowFreqFactor();
      double highFreqWavelen = scaling.originalMaxPositions() / scaling.highFreqFactor();
      for (int i = 0; i < inv.length; i++) {
        double wavelen = 2 * Math.PI / inv[i];
        if (wavelen > lowFreqWavelen) {
          inv[i] = inv[i] / scaling.factor();            // long wavelengths: interpolate positions
        } else if (wavelen >= highFreqWavelen) {         // the band between: blend the two
          double smooth = (scaling.originalMaxPositions() / wavelen - scaling.lowFreqFactor())
              / (scaling.highFreqFactor() - scaling.lowFreqFactor());
          inv[i] = (1 - smooth) * inv[i] / scaling.factor() + smooth * inv[i];
        }                                                // short wavelengths: unchanged
      }
    }
    return inv;
  }

  /**
   * Reads an HF {@code config.json} {@code rope_scaling} object (already parsed to a map). Returns null
   * for a null map or {@code rope_type} {@code "default"}; understands {@code "llama3"} under either key
   * {@code rope_type} or the older {@code type}; rejects every other type by name.
   */
  public static Llama3Scaling parseScaling(Map<String, ?> ropeScaling) {
    if (ropeScaling == null) return null;
    Object type = ropeScaling.containsKey("rope_type") ? ropeScaling.get("rope_type") : ropeScaling.get("type");
    require(type != null, "rope_scaling has neither rope_type nor type: " + ropeScaling);
    String name = type.toString().toLowerCase(Locale.ROOT);
    if (name.equals("default")) return null;
    require(name.equals("llama3"), "rope_scaling type '" + type + "' is not supported (supported: default, llama3)");
    return new Llama3Scaling(number(ropeScaling, "factor"), number(ropeScaling, "low_freq_factor"),
        number(ropeScaling, "high_freq_factor"), number(ropeScaling, "original_max_position_embeddings"));
  }

  private static double number(Map<String, ?> map, String key) {
    Object v = map.get(key);
    require(v instanceof Number, "rope_scaling." + key + " must be a number for rope_type llama3, got " + v);
    return ((Number) v).doubleValue();
  }

  public int headDim() { return headDim; }
  public int maxPositions() { return maxPositions; }

  /** A copy of the inverse frequencies, {@code [headDim/2]}. */
  public double[] invFreq() { return invFreq.clone(); }

  /** {@code cos(position · invFreq[i])}. */
  public double cos(int position, int i) { return cos[index(position, i)]; }

  /** {@code sin(position · invFreq[i])}. */
  public double sin(int position, int i) { return sin[index(position, i)]; }

  private int index(int position, int i) {
    int half = headDim / 2;
    if (position < 0 || position >= maxPositions || i < 0 || i >= half) {
      throw new IndexOutOfBoundsException("rope table entry (" + position + ", " + i + ") outside ["
          + maxPositions + ", " + half + "]");
    }
    return position * half + i;
  }

  /** The two tables on one backend, each {@code [maxPositions, headDim/2]}; closing frees both. */
  public record Uploaded(Tensor cos, Tensor sin) implements AutoCloseable {
    @Override public void close() {
      cos.close();
      sin.close();
    }
  }

  /**
   * The tables on {@code backend} in {@code dtype}. Values are rounded once from float64 to the target
   * dtype (via float32 for F32/BF16, which is how HF rounds its float32 tables to bf16).
   */
  public Uploaded upload(Backend backend, DType dtype) {
    require(dtype.isFloating(), "rope tables need a floating dtype, got " + dtype);
    return new Uploaded(uploadOne(backend, dtype, cos), uploadOne(backend, dtype, sin));
  }

  private Tensor uploadOne(Backend backend, DType dtype, double[] values) {
    Tensor t = backend.allocate(dtype, maxPositions, headDim / 2);
    if (dtype == DType.F64) {
      backend.upload(t, values);
    } else {
      float[] f = new float[values.length];
      for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
      backend.upload(t, f);
    }
    return t;
  }

  private static void require(boolean condition, String message) {
    if (!condition) throw new IllegalArgumentException(message);
  }
}
