package io.rewardkit.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the CUDA 13 shared libraries the GEMM path needs (Bytedeco's cuBLAS preset links
 * {@code libcudart.so.13}, {@code libcublasLt.so.13}, {@code libcublas.so.13}; its cudart binding also
 * needs the driver's {@code libcuda.so.1}) without the user setting anything up, and preloads them by
 * absolute path so the JNI libraries that name them by soname resolve to these files.
 *
 * <p>Where it looks, first hit wins: the explicit override ({@code --cuda_lib_dir}, else the
 * {@code REWARDKIT_CUDA_LIB_DIR} environment variable; a path list), {@code LD_LIBRARY_PATH}, the CUDA
 * toolkit ({@code CUDA_HOME}, {@code CUDA_PATH}, {@code /usr/local/cuda*}), then NVIDIA's pip wheels in
 * the Python environments on the machine: CUDA 13 wheels install into
 * {@code site-packages/nvidia/cu13/lib}, older ones into {@code site-packages/nvidia/<name>/lib}; the
 * site-packages folders come from {@code python3 -c 'import nvidia'} (the active environment) plus
 * the usual virtualenv / conda / system locations. The driver comes from the system loader's path.
 *
 * <p>Loading a library never needs a GPU; nothing here touches Bytedeco's CUDA classes.
 */
public final class CudaLibraries {
  private CudaLibraries() {}

  /** Environment variable with the same meaning as {@code --cuda_lib_dir}. */
  public static final String ENV = "REWARDKIT_CUDA_LIB_DIR";

  /** The libraries, in load order (each one's dependencies before it), with the pip package that brings it. */
  public enum Lib {
    CUDART("libcudart.so.13", "nvidia-cuda-runtime"),
    CUBLASLT("libcublasLt.so.13", "nvidia-cublas"),
    CUBLAS("libcublas.so.13", "nvidia-cublas");

    public final String soname;
    public final String pipPackage;

    Lib(String soname, String pipPackage) {
      this.soname = soname;
      this.pipPackage = pipPackage;
    }
  }

  /** One library: where it was found (null: nowhere), its version, and whether it loaded here. */
  public record Found(Lib lib, Path path, String version, String loadError) {
    public boolean ok() { return path != null && loadError == null; }
  }

  /** The driver library ({@code libcuda.so.1}): its path as the system loader sees it, or null. */
  public record Driver(Path path, String version) {}

  /** Everything {@code rewardkit info} prints, and what {@link #preload()} acted on. */
  public record Report(List<Path> searched, List<Found> libs, Driver driver) {
    public boolean allLoaded() { return libs.stream().allMatch(Found::ok); }

    /** The pip command that brings what is missing, or null when nothing is. */
    public String pipHint() {
      Set<String> pkgs = new LinkedHashSet<>();
      for (Found f : libs) if (f.path() == null) pkgs.add(f.lib().pipPackage);
      return pkgs.isEmpty() ? null : "pip install " + String.join(" ", pkgs);
    }

    /** One line saying what is missing or failed to load (for errors), or null when all loaded. */
    public String problem() {
      List<String> bad = new ArrayList<>();
      for (Found f : libs) {
        if (f.path() == null) bad.add(f.lib().soname + " not found");
        else if (f.loadError() != null) bad.add(f.lib().soname + " at " + f.path() + " does not load (" + f.loadError() + ")");
      }
      if (bad.isEmpty()) return null;
      String hint = pipHint();
      return String.join("; ", bad) + " (searched: --cuda_lib_dir / " + ENV + ", LD_LIBRARY_PATH, the CUDA toolkit, the"
          + " nvidia/cu13/lib and nvidia/*/lib folders of Python environments)"
          + (hint != null ? ". Install them with `" + hint + "` (or the CUDA 13 toolkit), or point --cuda_lib_dir at"
          + " their folder" : "");
    }
  }

  private static volatile String override;
  private static Report loaded;

  /** Sets the explicit search folders ({@code --cuda_lib_dir}; a path list); takes effect before the first load. */
  public static void setOverride(String dirs) { override = dirs; }

  /** The folders searched, in order (existing folders only, no duplicates). */
  public static List<Path> searchDirs() {
    Set<Path> dirs = new LinkedHashSet<>();
    String o = override != null ? override : System.getenv(ENV);
    addPathList(dirs, o);
    addPathList(dirs, System.getenv("LD_LIBRARY_PATH"));
    for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
      String home = System.getenv(var);
      if (home != null && !home.isBlank()) {
        add(dirs, Path.of(home, "lib64"));
        add(dirs, Path.of(home, "targets", "x86_64-linux", "lib"));
      }
    }
    add(dirs, Path.of("/usr/local/cuda/lib64"));
    add(dirs, Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
    for (Path p : glob(Path.of("/usr/local"), "cuda-13*")) add(dirs, p.resolve("targets/x86_64-linux/lib"));
    for (Path sp : sitePackages()) {
      add(dirs, sp.resolve("nvidia/cu13/lib"));
      for (Path pkg : glob(sp.resolve("nvidia"), "*")) add(dirs, pkg.resolve("lib"));
    }
    return new ArrayList<>(dirs);
  }

  /** Finds every library and the driver; loads nothing. */
  public static Report find() {
    List<Path> dirs = searchDirs();
    List<Found> libs = new ArrayList<>();
    for (Lib lib : Lib.values()) {
      Path hit = null;
      for (Path d : dirs) {
        Path f = d.resolve(lib.soname);
        if (Files.isRegularFile(f)) { hit = f; break; }
      }
      libs.add(new Found(lib, hit, hit == null ? null : version(hit), null));
    }
    return new Report(dirs, libs, driver());
  }

  /**
   * Finds the libraries and loads each by absolute path (once per JVM). Afterwards Bytedeco's JNI
   * libraries, which name them by soname, bind to these. Never throws; see {@link Report#problem()}.
   */
  public static synchronized Report preload() {
    if (loaded != null) return loaded;
    Report r = find();
    List<Found> libs = new ArrayList<>();
    for (Found f : r.libs()) {
      String error = null;
      if (f.path() != null) {
        try {
          System.load(f.path().toAbsolutePath().toString());
        } catch (Throwable t) {  // UnsatisfiedLinkError: wrong architecture, missing dependency
          error = t.getMessage() == null ? t.toString() : t.getMessage();
        }
      }
      libs.add(new Found(f.lib(), f.path(), f.version(), error));
    }
    loaded = new Report(r.searched(), libs, r.driver());
    return loaded;
  }

  // ---- where to look ----------------------------------------------------------------------------

  private static void addPathList(Set<Path> dirs, String list) {
    if (list == null) return;
    for (String s : list.split(":")) if (!s.isBlank()) add(dirs, Path.of(s.trim()));
  }

  private static void add(Set<Path> dirs, Path p) {
    if (Files.isDirectory(p)) dirs.add(p.toAbsolutePath().normalize());
  }

  private static List<Path> glob(Path dir, String pattern) {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) return out;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, pattern)) {
      for (Path p : ds) out.add(p);
    } catch (IOException | RuntimeException e) {
      // unreadable folder: nothing to find there
    }
    out.sort(null);
    return out;
  }

  /** site-packages folders: the active python3's, then virtualenv / conda / user / system ones. */
  static List<Path> sitePackages() {
    Set<Path> out = new LinkedHashSet<>();
    for (Path p : pythonNvidiaRoots()) add(out, p);
    List<Path> prefixes = new ArrayList<>();
    for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
      String v = System.getenv(var);
      if (v != null && !v.isBlank()) prefixes.add(Path.of(v));
    }
    String home = System.getProperty("user.home");
    if (home != null) prefixes.add(Path.of(home, ".local"));
    prefixes.add(Path.of("/usr/local"));
    prefixes.add(Path.of("/usr"));
    prefixes.add(Path.of("/opt/conda"));
    for (Path pre : prefixes) {
      for (Path py : glob(pre.resolve("lib"), "python3*")) {
        add(out, py.resolve("site-packages"));
        add(out, py.resolve("dist-packages"));
      }
    }
    return new ArrayList<>(out);
  }

  /** Asks python3 on PATH where the {@code nvidia} namespace package lives (its parents are site-packages). */
  private static List<Path> pythonNvidiaRoots() {
    List<Path> out = new ArrayList<>();
    String code = "import nvidia, os\nfor p in nvidia.__path__: print(os.path.dirname(os.path.abspath(p)))";
    try {
      Process p = new ProcessBuilder("python3", "-c", code).redirectErrorStream(false).start();
      p.getOutputStream().close();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return out;
      }
      try (InputStream in = p.getInputStream()) {
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          if (!line.isBlank()) out.add(Path.of(line.trim()));
        }
      }
      p.getErrorStream().close();
    } catch (IOException e) {
      // no python3 on PATH
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return out;
  }

  // ---- versions ---------------------------------------------------------------------------------

  private static final Pattern FULL_VERSION = Pattern.compile("\\.so\\.(\\d+(?:\\.\\d+)+)$");

  /**
   * The library's version: from the real file name ({@code libcublas.so.13.1.0.3}), else from the
   * pip wheel that installed it ({@code nvidia_cublas-13.1.0.3.dist-info/RECORD} lists the file), else
   * the soname's major version.
   */
  static String version(Path lib) {
    try {
      Path real = lib.toRealPath();
      Matcher m = FULL_VERSION.matcher(real.getFileName().toString());
      if (m.find() && m.group(1).contains(".")) return m.group(1);
      String pip = pipVersion(real);
      if (pip != null) return pip;
    } catch (IOException e) {
      // fall through
    }
    Matcher m = Pattern.compile("\\.so\\.(\\d+)$").matcher(lib.getFileName().toString());
    return m.find() ? m.group(1) + " (major)" : "unknown";
  }

  /**
   * Version of the pip distribution whose RECORD lists this file ({@code 13.1.1.3 (pip nvidia-cublas)}):
   * the dist-info folders of the nearest enclosing site-packages (or of a toolkit assembled from wheels,
   * which keeps them in {@code dist-info/}).
   */
  private static String pipVersion(Path real) throws IOException {
    String file = real.getFileName().toString();
    int levels = 0;
    for (Path dir = real.getParent(); dir != null && levels < 6; dir = dir.getParent(), levels++) {
      List<Path> infos = new ArrayList<>(glob(dir, "nvidia_*.dist-info"));
      infos.addAll(glob(dir.resolve("dist-info"), "nvidia_*.dist-info"));
      if (infos.isEmpty()) continue;
      for (Path info : infos) {
        Path record = info.resolve("RECORD");
        if (!Files.isRegularFile(record)) continue;
        for (String line : Files.readAllLines(record, StandardCharsets.UTF_8)) {
          String entry = line.contains(",") ? line.substring(0, line.indexOf(',')) : line;
          if (entry.equals(file) || entry.endsWith("/" + file)) {
            String d = info.getFileName().toString().replace(".dist-info", "");
            int dash = d.lastIndexOf('-');
            return d.substring(dash + 1) + " (pip " + d.substring(0, dash).replace('_', '-').toLowerCase(Locale.ROOT) + ")";
          }
        }
      }
      return null;
    }
    return null;
  }

  /** The driver library as the system loader would find it: ldconfig's cache, then the usual folders. */
  static Driver driver() {
    List<Path> candidates = new ArrayList<>();
    try {
      Process p = new ProcessBuilder("/sbin/ldconfig", "-p").redirectErrorStream(true).start();
      p.getOutputStream().close();
      if (p.waitFor(10, TimeUnit.SECONDS)) {
        for (String line : new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          String t = line.trim();
          if (t.startsWith("libcuda.so.1 ") && t.contains("x86-64") && t.contains("=> ")) {
            candidates.add(Path.of(t.substring(t.indexOf("=> ") + 3).trim()));
          }
        }
      } else {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      // no ldconfig
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) for (String s : ld.split(":")) if (!s.isBlank()) candidates.add(Path.of(s, "libcuda.so.1"));
    for (String d : new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib"}) {
      candidates.add(Path.of(d, "libcuda.so.1"));
    }
    for (Path c : candidates) {
      if (Files.isRegularFile(c)) return new Driver(c, version(c));
    }
    return new Driver(null, null);
  }
}
