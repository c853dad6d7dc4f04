package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Library discovery on fake layouts (file names only; nothing is loaded): the explicit folder wins,
 * the CUDA 13 pip-wheel layout (site-packages/nvidia/cu13/lib) is found with the wheel's version, and a
 * missing library names the pip package that brings it.
 */
class CudaLibrariesTest {
  @TempDir Path tmp;

  @AfterEach
  void clearOverride() { CudaLibraries.setOverride(null); }

  /** A venv-like site-packages with the CUDA 13 wheels' files and dist-info RECORDs. */
  private Path wheels(boolean withCublas) throws Exception {
    Path sp = tmp.resolve("venv/lib/python3.12/site-packages");
    Path lib = Files.createDirectories(sp.resolve("nvidia/cu13/lib"));
    Files.writeString(lib.resolve("libcudart.so.13"), "");
    Path rt = Files.createDirectories(sp.resolve("nvidia_cuda_runtime-13.0.96.dist-info"));
    Files.writeString(rt.resolve("RECORD"), "nvidia/cu13/lib/libcudart.so.13,sha256=x,1\n");
    if (withCublas) {
      Files.writeString(lib.resolve("libcublas.so.13"), "");
      Files.writeString(lib.resolve("libcublasLt.so.13"), "");
      Path bl = Files.createDirectories(sp.resolve("nvidia_cublas-13.1.1.3.dist-info"));
      Files.writeString(bl.resolve("RECORD"),
          "nvidia/cu13/lib/libcublas.so.13,sha256=y,2\nnvidia/cu13/lib/libcublasLt.so.13,sha256=z,3\n");
    }
    return lib;
  }

  @Test
  void findsTheCuda13WheelLayoutWithVersions() throws Exception {
    Path lib = wheels(true);
    CudaLibraries.setOverride(lib.toString());
    CudaLibraries.Report r = CudaLibraries.find();
    assertEquals(lib.toAbsolutePath().normalize(), r.searched().get(0), "the explicit folder is searched first");
    for (CudaLibraries.Found f : r.libs()) assertEquals(lib.resolve(f.lib().soname), f.path(), f.lib().soname);
    assertEquals("13.0.96 (pip nvidia-cuda-runtime)", r.libs().get(0).version());
    assertEquals("13.1.1.3 (pip nvidia-cublas)", r.libs().get(2).version());
    assertNull(r.pipHint());
  }

  @Test
  void missingLibrariesNameThePipPackage() throws Exception {
    Path lib = wheels(false);
    CudaLibraries.setOverride(lib.toString());
    CudaLibraries.Report r = CudaLibraries.find();
    assertEquals(lib.resolve("libcudart.so.13"), r.libs().get(0).path());
    // A machine-wide install (LD_LIBRARY_PATH, toolkit) could still provide cuBLAS; only check what is missing.
    if (r.libs().get(2).path() == null) {
      assertEquals("pip install nvidia-cublas", r.pipHint());
      assertTrue(r.problem().startsWith("libcublasLt.so.13 not found; libcublas.so.13 not found"), r.problem());
    }
  }

  @Test
  void aFullVersionInTheFileNameWins() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("toolkit/lib64"));
    Path real = Files.writeString(dir.resolve("libcublas.so.13.1.0.3"), "");
    Path link = Files.createSymbolicLink(dir.resolve("libcublas.so.13"), real.getFileName());
    assertEquals("13.1.0.3", CudaLibraries.version(link));
    Path plain = Files.writeString(Files.createDirectories(tmp.resolve("x")).resolve("libcudart.so.13"), "");
    assertEquals("13 (major)", CudaLibraries.version(plain));
  }
}
