package io.rewardkit.bench;

import io.rewardkit.kernels.Backend;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Set;

/**
 * Wraps a {@link Backend} so that every op call is timed by an {@link OpClock} and charged to its op
 * family, and device memory is sampled after each call. A dynamic proxy rather than a hand-written
 * decorator, so ops added to the interface later are timed without touching this class.
 *
 * <p>Keys: {@code embeddingForward} -> {@code embedding.fwd}, {@code linearBackward} -> {@code linear.bwd},
 * {@code addInPlace} and {@code add} -> {@code add.fwd}, {@code adamwUpdate} -> {@code optimizer.adamw}; other methods by name ({@code upload}, {@code copy}, ...) go to family
 * {@code memory}. Accessors ({@code name}, {@code device}, ...) and {@code synchronize} are not timed:
 * waiting is not work.
 */
public final class TimedBackend {
  private TimedBackend() {}

  private static final Set<String> UNTIMED = Set.of("name", "device", "computeType", "matmulPrecision", "synchronize", "close",
      "hashCode", "equals", "toString");
  private static final Set<String> MEMORY = Set.of("allocate", "upload", "downloadFloats", "downloadDoubles",
      "downloadInts", "copy", "zero");
  // Ops whose names do not say their family and direction.
  private static final Map<String, String> NAMED = Map.of(
      "addInPlace", "add.fwd",
      "add", "add.fwd",
      "rewardLoss", "loss.fwd+bwd",
      "adamwUpdate", "optimizer.adamw",
      "gradSumSquares", "optimizer.grad_norm");

  /** The op key a backend method is charged to, or null for untimed methods. */
  public static String keyOf(String method) {
    if (UNTIMED.contains(method)) return null;
    if (MEMORY.contains(method)) return "memory." + method;
    String named = NAMED.get(method);
    if (named != null) return named;
    if (method.endsWith("Forward")) return family(method, "Forward") + ".fwd";
    if (method.endsWith("Backward")) return family(method, "Backward") + ".bwd";
    return method + ".call";
  }

  private static String family(String method, String suffix) {
    return method.substring(0, method.length() - suffix.length());
  }

  /** A backend that forwards to {@code target}, timing ops on {@code clock} and sampling {@code memory}. */
  public static Backend wrap(Backend target, OpClock clock, MemoryProbe memory) {
    InvocationHandler h = new Handler(target, clock, memory);
    return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
  }

  private record Handler(Backend target, OpClock clock, MemoryProbe memory) implements InvocationHandler {
    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
      String key = keyOf(method.getName());
      try {
        if (key == null) return method.invoke(target, args);
        clock.begin();
        Object r = method.invoke(target, args);
        clock.end(key);
        memory.sample();
        return r;
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    }
  }
}
