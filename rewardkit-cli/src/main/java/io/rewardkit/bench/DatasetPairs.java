package io.rewardkit.bench;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.EncodedPair;
import io.rewardkit.data.HfTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Benchmark pairs from a real preference dataset, through the data pipeline (format detection, chat template, truncation). */
public final class DatasetPairs {
  private DatasetPairs() {}

  /**
   * {@code count} pairs from {@code data} tokenized with {@code tokenizer}, in file order, cycling when the
   * file holds fewer. Each response ends with the dataset's readout token, as in training.
   */
  public static List<PairTokens> load(Path data, Path tokenizer, int maxLength, int count, int vocabSize) {
    // Bad records are skipped (and counted by the pipeline), as a training run with on_bad_record=skip would.
    return load(data, tokenizer, DataOptions.defaults().withMaxLength(maxLength).withOnBadRecord(DataOptions.OnBadRecord.SKIP),
        count, vocabSize);
  }

  /** As above, reading and encoding {@code data} with {@code options}. */
  public static List<PairTokens> load(Path data, Path tokenizer, DataOptions options, int count, int vocabSize) {
    EncodedDataset ds;
    try (HfTokenizer tok = HfTokenizer.load(tokenizer)) {
      ds = DataPipeline.load(List.of(data), options, tok);
    }
    if (ds.size() == 0) throw new RewardKitException(data + ": no usable pairs (all dropped by truncation?)");
    List<PairTokens> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      EncodedPair p = ds.pair(i % ds.size());
      PairTokens t = new PairTokens(p.prompt(), withReadout(p.chosen(), p.readoutToken()), withReadout(p.rejected(), p.readoutToken()));
      for (int[] part : new int[][] {t.prompt(), t.chosen(), t.rejected()}) {
        for (int id : part) {
          if (id < 0 || id >= vocabSize) {
            throw new RewardKitException(data + ": pair " + i + " has token id " + id + ", outside the model's vocabulary of "
                + vocabSize + " (tokenizer and --shape do not match)");
          }
        }
      }
      out.add(t);
    }
    return out;
  }

  private static int[] withReadout(int[] response, int readout) {
    int[] r = Arrays.copyOf(response, response.length + 1);
    r[response.length] = readout;
    return r;
  }
}
