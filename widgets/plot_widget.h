#pragma once
// Base of the workbench's single-plot widgets: a QWidget holding one QCustomPlot in the shared
// paper style, with an optional title and saving to PNG, PDF or SVG.

#include <QString>
#include <QWidget>

class QCustomPlot;
class QCPTextElement;

namespace sbiw::widgets {

class PlotWidget : public QWidget {
    Q_OBJECT

  public:
    explicit PlotWidget(QWidget* parent = nullptr);
    ~PlotWidget() override;

    QCustomPlot* plot() const { return plot_; }

    // Shown above the plot; empty removes the title line.
    void setTitle(const QString& title);
    QString title() const { return titleText_; }

    // PNG, PDF or SVG by suffix; empty string on success, otherwise the problem in words.
    QString save(const QString& path);

    QSize sizeHint() const override { return QSize(480, 320); }

  protected:
    // Queues a replot (several updates in one event-loop turn draw once).
    void requestReplot();
    // Re-fits the title (and, in subclasses, other text) to the new width.
    void resizeEvent(QResizeEvent* event) override;
    virtual void fitTextToWidth();

  private:
    QCustomPlot* plot_ = nullptr;
    QCPTextElement* title_ = nullptr;
    QString titleText_;
};

}  // namespace sbiw::widgets
