/** File-system helpers shared by every writer: {@link io.rewardkit.io.AtomicFiles}, the one atomic writer and its fsync policy. */
package io.rewardkit.io;
